package export_gauntlet_rate_limiter_limiter

import (
	"math"
	"math/bits"
)

// u128 is an unsigned 128-bit integer, for the products the specification
// computes exactly (a limit times a window width: up to 10^30).
type u128 struct{ hi, lo uint64 }

// mul returns a * b, exactly.
func mul(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

// add returns x + y. The callers' sums stay far below 2^128.
func (x u128) add(y u128) u128 {
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, carry)
	return u128{hi, lo}
}

// sub returns x - y, for x >= y.
func (x u128) sub(y u128) u128 {
	lo, borrow := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, borrow)
	return u128{hi, lo}
}

// less tells whether x < y.
func (x u128) less(y u128) bool {
	return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo)
}

// div returns floor(x / d) for d > 0, saturated to u64 max when the quotient
// does not fit in 64 bits (bits.Div64 would panic).
func (x u128) div(d uint64) uint64 {
	if x.hi >= d {
		return math.MaxUint64
	}
	q, _ := bits.Div64(x.hi, x.lo, d)
	return q
}

// subFloor returns a - b, or 0 when b >= a: max(0, a - b).
func subFloor(a, b uint64) uint64 {
	if b >= a {
		return 0
	}
	return a - b
}

// divCeil returns ceil(a / b) for b > 0.
func divCeil(a, b uint64) uint64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}
