package postgresstore_test

// dropBenchSchema drops the schema the benchmarks loaded, if any.
func dropBenchSchema() {}
