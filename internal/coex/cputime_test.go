package coex

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPUThroughput adds cpu-MB/s: bytes per second of CPU time used by the
// process (all its threads, the garbage collector included). Unlike MB/s it
// does not depend on how busy the machine is with other work.
func reportCPUThroughput(b *testing.B, start time.Duration, bytes int64) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/used.Seconds()/1e6, "cpu-MB/s")
	}
}
