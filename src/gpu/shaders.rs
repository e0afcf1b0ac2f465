//! The registry of WGSL kernels: one variant per file in `shaders/`, each
//! compiled with the shared prelude `shaders/common.wgsl` in front.

macro_rules! shaders {
    ($($variant:ident => $stem:literal,)*) => {
        /// One WGSL file in `shaders/`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Shader { $(#[doc = concat!("`shaders/", $stem, ".wgsl`")] $variant,)* }

        impl Shader {
            /// Every shader, for validation and warm-up.
            pub const ALL: &'static [Shader] = &[$(Shader::$variant,)*];

            /// File stem, also the op's name everywhere else.
            pub fn stem(self) -> &'static str {
                match self { $(Shader::$variant => $stem,)* }
            }

            /// Full WGSL source: the prelude followed by the kernel file.
            pub fn source(self) -> &'static str {
                match self {
                    $(Shader::$variant => concat!(
                        include_str!("../../shaders/common.wgsl"),
                        "\n",
                        include_str!(concat!("../../shaders/", $stem, ".wgsl"))
                    ),)*
                }
            }
        }
    };
}

shaders! {
    Fill => "fill",
    Matmul => "matmul",
    Binary => "binary",
    Unary => "unary",
    Activation => "activation",
    Reduce => "reduce",
    Softmax => "softmax",
    DotRows => "dot_rows",
    SpdInverse => "spd_inverse",
    Transpose => "transpose",
    GatherRows => "gather_rows",
    ScatterAddRows => "scatter_add_rows",
    SpmmCsr => "spmm_csr",
    SpmmCsrRows => "spmm_csr_rows",
    CsrRowsDense => "csr_rows_dense",
    Gram => "gram",
    Conv1d => "conv1d",
    Conv2d => "conv2d",
    Maxpool => "maxpool",
    ConvRowsMax => "conv_rows_max",
    LstmCell => "lstm_cell",
    GruCell => "gru_cell",
    LayerNorm => "layer_norm",
    MaskedSoftmax => "masked_softmax",
    Adam => "adam",
    Adagrad => "adagrad",
    Sgd => "sgd",
    Loss => "loss",
    BprTriples => "bpr_triples",
    MfResiduals => "mf_residuals",
    Dropout => "dropout",
    Normal => "normal",
    TopkMasked => "topk_masked",
    KeepTopK => "keep_top_k",
    RankAmong => "rank_among",
    RankMetrics => "rank_metrics",
}
