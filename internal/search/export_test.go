package search

// SetScanLimits shrinks how many candidate rows a search reads per query and per page, so
// tests can walk the Go-side text check over several batches.
func SetScanLimits(s Searcher, batch, maxScan int) {
	e := s.(*engine)
	e.batch, e.maxScan = batch, maxScan
}
