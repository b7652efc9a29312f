//! `cordium serve`: the local cluster exposed over the same gRPC services as a real cluster,
//! with auth and fault injection. Used by the stages above only through `live`.
