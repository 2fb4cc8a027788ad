package sfu

import "testing"

// benchKeyframe runs keyframe detection over the table's payloads of one
// codec family: the cost it adds to every forwarded packet.
func benchKeyframe(b *testing.B, family int) {
	var payloads [][]byte
	for _, tc := range keyframeCases {
		if tc.family == family {
			payloads = append(payloads, tc.payload)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	keys := 0
	for i := range b.N {
		if isKeyframe(family, payloads[i%len(payloads)]) {
			keys++
		}
	}
	if keys < 0 {
		b.Fatal(keys)
	}
}

func BenchmarkKeyframeVP8(b *testing.B)  { benchKeyframe(b, codecVP8) }
func BenchmarkKeyframeVP9(b *testing.B)  { benchKeyframe(b, codecVP9) }
func BenchmarkKeyframeAV1(b *testing.B)  { benchKeyframe(b, codecAV1) }
func BenchmarkKeyframeH264(b *testing.B) { benchKeyframe(b, codecH264) }
func BenchmarkKeyframeH265(b *testing.B) { benchKeyframe(b, codecH265) }
