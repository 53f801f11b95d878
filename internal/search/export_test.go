package search

// SetScanLimits changes how many candidate rows a search reads per query (batch) and per page
// (maxScan), and the size of the recent window (MySQL; 0 turns it off), so that tests walk
// every path over a small corpus.
func SetScanLimits(s Searcher, batch, maxScan, window int) {
	e := s.(*engine)
	e.batch, e.maxScan = batch, maxScan
	if e.dialect == "mysql" {
		e.window = window
	}
}
