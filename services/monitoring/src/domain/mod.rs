//! Pure rules of the monitoring service (绩效运行监控). No transport, no database, no I/O, no
//! floating point: money is `rust_decimal::Decimal` in 元.
