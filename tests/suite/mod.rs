mod check;
mod escapes;
mod harness;
mod man_pages;
mod profiles;
mod run_errors;
mod run_isolation;
mod run_lifecycle;
