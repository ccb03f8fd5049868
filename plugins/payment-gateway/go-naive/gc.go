package export_gauntlet_payments_gateway

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The garbage collector runs only where this package calls it.
//
// Left to itself, Go starts a collection in whichever allocation crosses the
// heap goal, and that allocation may be one the bindings' `cabi_realloc`
// makes while the host lowers a call's arguments or an import's results (a
// store read, a page of a scan, a bank receipt). The end of a collection
// reads the wall clock (`runtime.gcMarkTermination` calls `time.now`), and
// a component may not call an import from inside `cabi_realloc`: the
// instance traps with "cannot leave component instance". The bindings'
// runtime pauses the WASI monotonic clock around its allocations for this
// very reason, but not the wall clock.
//
// So automatic collection is off, and every export calls collectIfDue
// first, which collects by GOGC=100's rule (when the heap allocated since
// the last collection reaches what was live after it, at least minGCBytes),
// at a moment where imports are allowed. Within one call nothing is
// collected: the costliest (a listing or a recovery that scans every
// payment) allocate a few MiB.
func init() {
	debug.SetGCPercent(-1)
}

// minGCBytes is the least allocation between two collections, as Go's own
// minimum heap goal.
const minGCBytes = 4 << 20

var (
	// gcSamples: the bytes allocated since the start, and the bytes live
	// after the last collection.
	gcSamples      = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	allocsAtLastGC uint64
	liveAtLastGC   uint64
)

// collectIfDue collects garbage if enough was allocated since the last
// collection. (Reading the metrics costs about 20,000 fuel, a few percent
// of a call here.)
func collectIfDue() {
	metrics.Read(gcSamples[:1])
	budget := max(liveAtLastGC, minGCBytes)
	if gcSamples[0].Value.Uint64()-allocsAtLastGC < budget {
		return
	}
	runtime.GC()
	metrics.Read(gcSamples)
	allocsAtLastGC = gcSamples[0].Value.Uint64()
	liveAtLastGC = gcSamples[1].Value.Uint64()
}
