//! The data layer end to end: loaders on files, pre-split files, filters, and the MovieLens
//! 100K side features (when `../shared/datasets/ml-100k` or `$GPUREC_ML100K` is present).

use std::path::{Path, PathBuf};

use gpurec::data::movielens::{find_ml100k, load_delimited, load_inter, load_ml100k, CsvFormat};
use gpurec::data::side::{load_ml100k_items, load_ml100k_users};
use gpurec::data::split::{load_presplit, load_presplit_inter, random_ratio};
use gpurec::error::Error;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn ml100k() -> Option<PathBuf> {
    let dir = find_ml100k();
    if dir.is_none() {
        eprintln!("MovieLens 100K is ABSENT (../shared/datasets/ml-100k or $GPUREC_ML100K): skipping this test");
    }
    dir
}

#[test]
fn file_loaders() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dat = write(d, "ratings.dat", b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n");
    let r = load_delimited(&dat, &CsvFormat::ml_dat()).unwrap();
    assert_eq!((r.len(), r.n_users(), r.n_items()), (3, 2, 2));

    let csv =
        write(d, "ratings.csv", b"\xef\xbb\xbfuserId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n");
    let r = load_delimited(&csv, &CsvFormat::ml_latest_csv()).unwrap();
    assert_eq!(r.ratings, vec![4.0, 4.5]);

    let inter = write(
        d,
        "ml.inter",
        concat!(
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n",
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
        )
        .as_bytes(),
    );
    let r = load_inter(&inter).unwrap();
    assert_eq!((r.len(), r.user_ids.id(1), r.timestamps[0]), (2, "186", 881250949));

    // Generic columns by name from the file's header, any order, extra columns ignored.
    let tsv = write(d, "clicks.tsv", b"ts\tsession\titem\tuser\n10\ts1\tA\tbob\n11\ts1\tB\tann\n");
    let f = CsvFormat::from_header(&tsv, "\t", "user", "item", None, Some("ts")).unwrap();
    let r = load_delimited(&tsv, &f).unwrap();
    assert_eq!((r.user_ids.id(0), r.item_ids.id(1), r.ratings[0], r.timestamps[1]), ("bob", "B", 1.0, 11));
}

#[test]
fn bad_files_are_errors_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ml = CsvFormat::ml100k();
    let err = |p: &Path, f: &CsvFormat| load_delimited(p, f).unwrap_err();

    let missing = d.join("nope.data");
    assert!(matches!(err(&missing, &ml), Error::Io { .. }));
    assert!(matches!(load_inter(&missing), Err(Error::Io { .. })));
    assert!(matches!(CsvFormat::from_header(&missing, ",", "a", "b", None, None), Err(Error::Io { .. })));

    let empty = write(d, "empty.data", b"");
    assert!(matches!(err(&empty, &ml), Error::Data { line: 0, .. }));
    let empty_inter = write(d, "empty.inter", b"");
    assert!(matches!(load_inter(&empty_inter), Err(Error::Data { line: 1, .. })));
    assert!(matches!(CsvFormat::inter(&empty_inter), Err(Error::Data { line: 1, .. })));

    let header_only = write(d, "h.inter", b"user_id:token\titem_id:token\n");
    let e = load_inter(&header_only).unwrap_err().to_string();
    assert!(e.contains("h.inter") && e.contains("no interactions"), "{e}");

    let wrong_delim = write(d, "comma.data", b"1,2,3,4\n");
    let e = err(&wrong_delim, &ml).to_string();
    assert!(e.contains("comma.data:1:") && e.contains("fields"), "{e}");

    let latin1 = write(d, "latin1.data", b"1\t2\t3\t4\n\xe9\t2\t3\t4\n");
    let e = err(&latin1, &ml);
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    assert!(e.to_string().contains("UTF-8"), "{e}");

    let mut long = b"1\t2\t3\t4\n".to_vec();
    long.extend(std::iter::repeat_n(b'7', 5_000_000));
    long.extend(b"\n");
    let long = write(d, "long.data", &long);
    let e = err(&long, &ml).to_string();
    assert!(e.contains("long.data:2:") && e.len() < 300, "{}", &e[..300.min(e.len())]);

    let bad_inter = write(d, "bad.inter", b"user_id:token\titem_id:token\trating:float\n1\t2\tfive\n");
    let e = load_inter(&bad_inter).unwrap_err().to_string();
    assert!(e.contains("bad.inter:2:") && e.contains("rating"), "{e}");

    let binary = write(d, "bin.data", &[0u8, 159, 146, 150, 0, 10, 255]);
    assert!(matches!(err(&binary, &ml), Error::Data { .. }));
}

#[test]
fn presplit_files_share_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let train = write(d, "u1.base", b"1\t10\t5\t1\n2\t11\t3\t2\n1\t11\t4\t3\n");
    let valid = write(d, "u1.valid", b"2\t10\t2\t4\n");
    let test = write(d, "u1.test", b"1\t12\t1\t5\n3\t10\t4\t6\n");
    let (data, s) = load_presplit(&train, Some(&valid), &test, &CsvFormat::ml100k()).unwrap();
    assert_eq!((s.train, s.valid, s.test.clone()), (vec![0, 1, 2], vec![3], vec![4, 5]));
    assert_eq!((data.n_users(), data.n_items()), (3, 3));
    assert_eq!(data.users[3], data.users[1], "user 2 has one index in train and valid");
    assert_eq!(data.items[5], data.items[0], "item 10 has one index in train and test");
    assert_eq!(data.item_ids.id(data.items[4]), "12", "an item only in test is in the map");

    let (_, s) = load_presplit(&train, None, &test, &CsvFormat::ml100k()).unwrap();
    assert_eq!((s.valid.len(), s.test), (0, vec![3, 4]));

    // RecBole benchmark files, each with its own header (column order may differ).
    let tr = write(d, "x.train.inter", b"user_id:token\titem_id:token\na\tp\nb\tq\n");
    let va = write(d, "x.valid.inter", b"item_id:token\tuser_id:token\np\tb\n");
    let te = write(d, "x.test.inter", b"user_id:token\titem_id:token\nc\tq\n");
    let (data, s) = load_presplit_inter(&tr, Some(&va), &te).unwrap();
    assert_eq!((data.n_users(), data.n_items(), s.valid.clone()), (3, 2, vec![2]));
    assert_eq!((data.users[2], data.items[2]), (1, 0));

    // A bad part names its own file.
    let bad = write(d, "bad.test", b"1\t10\t5\n");
    let e = load_presplit(&train, None, &bad, &CsvFormat::ml100k()).unwrap_err().to_string();
    assert!(e.contains("bad.test:1:"), "{e}");
}

#[test]
fn ml100k_filters_and_splits() {
    let Some(dir) = ml100k() else { return };
    let d = load_ml100k(&dir).unwrap();
    assert_eq!((d.len(), d.n_users(), d.n_items()), (100_000, 943, 1682));

    let imp = d.implicit(Some(4.0));
    assert_eq!(imp.len(), 55_375, "ratings of 4 and 5");
    assert!(imp.ratings.iter().all(|&r| r == 1.0));
    assert_eq!((imp.n_users(), imp.n_items()), (943, 1682), "maps kept");
    let c = imp.compact();
    assert!(c.n_items() < 1682 && c.n_users() <= 943);

    // Every user has ≥ 20 ratings, so a user filter of 20 alone removes nothing.
    assert_eq!(d.filter_min_interactions(20, 0).len(), 100_000);
    // Items with ≥ 5 ratings: 1349 of them; users then all still have ≥ 5.
    let f = d.filter_min_interactions(5, 5);
    assert_eq!((f.n_users(), f.n_items()), (943, 1349));
    let f = d.filter_min_interactions(50, 50);
    let mut uc = vec![0; f.n_users()];
    let mut ic = vec![0; f.n_items()];
    for r in 0..f.len() {
        uc[f.users[r] as usize] += 1;
        ic[f.items[r] as usize] += 1;
    }
    assert!(uc.iter().all(|&c| c >= 50) && ic.iter().all(|&c| c >= 50));
    eprintln!("ML-100K 50-core: {}", f.summary());

    let s = random_ratio(&d, 0.1, 0.1, 2020).unwrap();
    assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (80_000, 10_000, 10_000));
}

#[test]
fn ml100k_side_features() {
    let Some(dir) = ml100k() else { return };
    let d = load_ml100k(&dir).unwrap();
    let items = load_ml100k_items(&dir, &d.item_ids).unwrap();
    let g = &items.genres;
    assert_eq!((g.rows, g.cols()), (1682, 19));
    assert!(g.present.iter().all(|&p| p));
    let per_genre: Vec<usize> = (0..19).map(|c| (0..g.rows).filter(|&r| g.row(r)[c] == 1.0).count()).collect();
    assert_eq!(per_genre, [2, 251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247, 101, 251, 71, 27]);
    assert_eq!(g.names[4], "genre=Children's", "names from u.genre");
    let toy = d.item_ids.get("1").unwrap() as usize;
    assert_eq!(items.titles[toy], "Toy Story (1995)");
    let c = g.col("genre=Comedy").unwrap();
    assert_eq!(g.row(toy)[c], 1.0);
    let mis = d.item_ids.get("543").unwrap() as usize;
    assert_eq!(items.titles[mis], "Misérables, Les (1995)", "latin-1 decoded");

    let users = load_ml100k_users(&dir, &d.user_ids).unwrap();
    assert_eq!((users.rows, users.cols()), (943, 1 + 7 + 2 + 21 + 11));
    assert!(users.present.iter().all(|&p| p));
    for r in 0..users.rows {
        let ones = users.row(r)[1..].iter().filter(|&&v| v == 1.0).count();
        assert_eq!(ones, 4, "one age group, gender, occupation and zip region per user");
    }
    let u1 = users.row(d.user_ids.get("1").unwrap() as usize);
    for name in ["age=18-24", "gender=M", "occupation=technician", "zip=8"] {
        assert_eq!(u1[users.col(name).unwrap()], 1.0, "{name}");
    }
    assert_eq!(u1[0], 0.24);
    let females = (0..943).filter(|&r| users.row(r)[users.col("gender=F").unwrap()] == 1.0).count();
    assert_eq!(females, 273);
    let other_zip = (0..943).filter(|&r| users.row(r)[users.col("zip=other").unwrap()] == 1.0).count();
    assert_eq!(other_zip, 18);

    // Aligned to a filtered map: rows follow the new indices.
    let f = d.filter_min_interactions(0, 100);
    let items_f = load_ml100k_items(&dir, &f.item_ids).unwrap();
    assert_eq!(items_f.genres.rows, f.n_items());
    for i in 0..f.n_items() {
        let orig = d.item_ids.get(f.item_ids.id(i as u32)).unwrap() as usize;
        assert_eq!(items_f.genres.row(i), g.row(orig));
    }
}

/// RecBole's sequential atomic files (an `item_id_list` column) load through
/// the same pre-split entry point as every other format, into time-ordered
/// sequences the leave-one-out protocol reads.
#[test]
fn recbole_item_list_files_load_as_sequences() {
    let tmp = tempfile::tempdir().unwrap();
    let h = "session_id:token\titem_id_list:token_seq\titem_id:token\n";
    let train = write(tmp.path(), "s.train.inter", format!("{h}7\t10\t11\n7\t10 11\t12\n8\t11\t10\n").as_bytes());
    let valid = write(tmp.path(), "s.valid.inter", format!("{h}7\t10 11 12\t13\n8\t11 10\t12\n").as_bytes());
    let test = write(tmp.path(), "s.test.inter", format!("{h}7\t11 12 13\t14\n8\t10 12\t13\n").as_bytes());
    let (d, s) = gpurec::data::spec::load_presplit_files(&train, Some(&valid), &test).unwrap();
    let names = |rows: &[usize]| -> Vec<String> {
        rows.iter().map(|&r| format!("{}:{}", d.user_ids.id(d.users[r]), d.item_ids.id(d.items[r]))).collect()
    };
    assert_eq!(names(&s.train), ["7:10", "7:11", "7:12", "8:11", "8:10"]);
    assert_eq!(names(&s.valid), ["7:13", "8:12"]);
    assert_eq!(names(&s.test), ["7:14", "8:13"]);
    let seqs = gpurec::data::sequence::Sequences::from_rows(&d, &s.train);
    let user7 = d.user_ids.get("7").unwrap();
    let seq: Vec<&str> = seqs.user(user7 as usize).iter().map(|&i| d.item_ids.id(i)).collect();
    assert_eq!(seq, ["10", "11", "12"]);
    let bad = write(tmp.path(), "b.test.inter", format!("{h}7\t10 11\t14\n").as_bytes());
    let e = gpurec::data::spec::load_presplit_files(&train, Some(&valid), &bad).unwrap_err().to_string();
    assert!(e.contains("b.test.inter:2:") && e.contains("validation item"), "{e}");
}

/// Item names come from the file next to the ratings, in each MovieLens
/// layout, aligned with the item ids; a malformed names file names its line.
#[test]
fn item_names_next_to_the_ratings() {
    use gpurec::data::side::load_item_names;
    let tmp = tempfile::tempdir().unwrap();
    let mut items = gpurec::data::IdMap::default();
    for id in ["2", "1", "9"] {
        items.intern(id);
    }
    // ML-100K: u.item in the folder (latin-1: "é" is one byte).
    let ml100k = tmp.path().join("ml100k");
    std::fs::create_dir(&ml100k).unwrap();
    write(&ml100k, "u.data", b"1\t1\t5\t0\n");
    let flags = "|0".repeat(19);
    let u_item =
        format!("1|Toy Story (1995)|01-Jan-1995||http://x{flags}\n2|GoldenEye (1995)|01-Jan-1995||http://y{flags}\n");
    let mut bytes = u_item.into_bytes();
    bytes.extend_from_slice(b"3|Cit\xe9 (1996)|01-Jan-1996||http://z");
    bytes.extend_from_slice(flags.as_bytes());
    write(&ml100k, "u.item", &bytes);
    let names = load_item_names(&ml100k, &items).unwrap().unwrap();
    assert_eq!(names, ["GoldenEye (1995)", "Toy Story (1995)", ""]);
    assert_eq!(load_item_names(&ml100k.join("u.data"), &items).unwrap().unwrap(), names);
    // ML-1M: movies.dat next to ratings.dat, latin-1.
    let ml1m = tmp.path().join("ml1m");
    std::fs::create_dir(&ml1m).unwrap();
    let ratings = write(&ml1m, "ratings.dat", b"1::1::5::0\n");
    write(&ml1m, "movies.dat", b"1::Toy Story (1995)::Animation\n9::Am\xe9lie (2001)::Comedy|Romance\n");
    assert_eq!(load_item_names(&ratings, &items).unwrap().unwrap(), ["", "Toy Story (1995)", "Am\u{e9}lie (2001)"]);
    write(&ml1m, "movies.dat", b"1::Toy Story (1995)::Animation\n2 Toy Story\n");
    let e = load_item_names(&ratings, &items).unwrap_err().to_string();
    assert!(e.contains("movies.dat") && e.contains(":2"), "{e}");
    // MovieLens latest: movies.csv next to ratings.csv, titles quoted where they hold commas.
    let latest = tmp.path().join("latest");
    std::fs::create_dir(&latest).unwrap();
    let ratings = write(&latest, "ratings.csv", b"userId,movieId,rating,timestamp\n1,1,5,0\n");
    write(&latest, "movies.csv", b"movieId,title,genres\n9,\"President, The (1995)\",Comedy\n2,Heat (1995),Action\n");
    assert_eq!(load_item_names(&ratings, &items).unwrap().unwrap(), ["Heat (1995)", "", "President, The (1995)"]);
    // No names file: no names.
    let bare = write(tmp.path(), "plain.tsv", b"1\t1\t5\t0\n");
    assert_eq!(load_item_names(&bare, &items).unwrap(), None);
}
