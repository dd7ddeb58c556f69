//! Ferry core
