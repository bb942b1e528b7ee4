//! Tests that span modules: the handed approval cases, and HTTP calls against a
//! simulator started in-process on 127.0.0.1:0.

mod cases;
mod http_admin;
mod http_api;
mod http_faults;
mod http_premium;
mod support;
