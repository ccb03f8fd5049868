package export_gauntlet_rate_limiter_limiter

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The garbage collector runs only where this package calls it.
//
// Left to itself, Go starts a collection in whichever allocation crosses the
// heap goal, and that allocation may be one the bindings' `cabi_realloc`
// makes while the host lowers a call's arguments (the key of every check).
// The end of a collection reads the wall clock (`runtime.gcMarkTermination`
// calls `time.now`), and a component may not call an import from inside
// `cabi_realloc`: the instance traps with "cannot leave component
// instance". The bindings' runtime pauses the WASI monotonic clock around
// its allocations for this very reason, but not the wall clock.
//
// So automatic collection is off, and Check calls collectIfDue, which
// collects by GOGC=100's rule (when the heap allocated since the last
// collection reaches what was live after it, at least minGCBytes), but at a
// moment where imports are allowed.
func init() {
	debug.SetGCPercent(-1)
}

// minGCBytes is the least allocation between two collections, as Go's own
// minimum heap goal.
const minGCBytes = 4 << 20

// gcLookEvery is how many calls pass between two looks at the heap.
const gcLookEvery = 256

var (
	// gcSamples: the bytes allocated since the start, and the bytes live
	// after the last collection.
	gcSamples      = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	allocsAtLastGC uint64
	liveAtLastGC   uint64
	sinceLook      int
)

// collectIfDue collects garbage if enough was allocated since the last
// collection. It looks at the heap every gcLookEvery calls only: reading the
// metrics costs about 20,000 fuel, two checks' worth, and a check allocates
// a hundred bytes or so.
func collectIfDue() {
	sinceLook++
	if sinceLook < gcLookEvery {
		return
	}
	sinceLook = 0
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
