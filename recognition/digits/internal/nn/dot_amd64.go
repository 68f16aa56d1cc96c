package nn

import "golang.org/x/sys/cpu"

// useFMA: the processor has AVX2 and FMA, as every x86 server and desktop
// processor of the last decade; the convolutions are then eight products
// at a time, most of the cost of reading a digit.
var useFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotFMA is dot with AVX2 fused multiply-adds (dot_amd64.s).
//
//go:noescape
func dotFMA(a, b []float32) float32

// dot is the dot product of a and b (b at least as long as a).
func dot(a, b []float32) float32 {
	if useFMA {
		return dotFMA(a, b[:len(a)])
	}
	return dotGo(a, b)
}
