//! Rating-prediction metrics (RMSE, MAE).
