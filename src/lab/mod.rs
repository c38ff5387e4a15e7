//! `lvsync lab`: a throw-away User-Mode Linux kernel with a director, real servers and a client.

pub mod kernel;
