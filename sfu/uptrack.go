package sfu

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxLayers is the number of simulcast layers a track may have: q, h, f.
const maxLayers = 3

// upTrack is one track a participant publishes (one media section, mid):
// one layer, or up to three simulcast layers, each read by its own
// goroutine that forwards every packet to the track's down-tracks.
type upTrack struct {
	pub    *participant
	mid    string
	kind   webrtc.RTPCodecType
	codec  webrtc.RTPCodecParameters
	family int                    // codecVP8…: how keyframes are recognised
	pc     *webrtc.PeerConnection // the publisher's, for keyframe requests
	m      *metrics

	layers  [maxLayers]atomic.Pointer[layer]
	mu      sync.Mutex                   // serialises changes of downs
	downs   atomic.Pointer[[]*downTrack] // copy on write: the forwarding loops read it without locks
	muted   atomic.Bool                  // not forwarded (a muted participant's audio)
	stopped atomic.Bool                  // unpublished

	audioLevelID uint8         // the audio level extension's id, 0 = none
	loudness     atomic.Uint64 // sum of 127-level over the current speaker window
	levels       atomic.Uint64 // packets in that sum
}

// layer is one RTP stream of a track.
type layer struct {
	idx   int
	rid   string
	track *webrtc.TrackRemote
	pliAt atomic.Int64 // when a keyframe was last requested, Unix nanoseconds
	stats streamStats
	cache *packetCache // video: recent packets, for NACKs; nil for audio
}

func newUpTrack(p *participant, mid string, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *upTrack {
	up := &upTrack{pub: p, mid: mid, kind: track.Kind(), codec: track.Codec(), pc: p.pc, m: p.room.node.metrics}
	up.family = codecFamily(up.codec)
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI && ext.ID > 0 && ext.ID < 256 {
			up.audioLevelID = uint8(ext.ID)
		}
	}
	up.downs.Store(&[]*downTrack{})
	return up
}

func (up *upTrack) key() trackKey { return trackKey{up.pub.user, up.mid} }

// layerIndex maps a simulcast RID to a layer: q (quarter) 0, h (half) 1,
// f (full) 2; a track without simulcast is layer 0.
func layerIndex(rid string) int {
	switch rid {
	case "h", "1", "mid":
		return 1
	case "f", "2", "high":
		return 2
	}
	return 0
}

// addLayer starts forwarding a layer.
func (up *upTrack) addLayer(track *webrtc.TrackRemote) { up.addLayerAt(track, layerIndex(track.RID())) }

// addLayerAt starts forwarding track as layer idx (a relayed layer has no
// RID: its track id names the layer).
func (up *upTrack) addLayerAt(track *webrtc.TrackRemote, idx int) {
	if up.layers[idx].Load() != nil {
		return
	}
	l := &layer{idx: idx, rid: track.RID(), track: track}
	if up.kind == webrtc.RTPCodecTypeVideo {
		l.cache = new(packetCache)
	}
	up.layers[idx].Store(l)
	for _, dt := range *up.downs.Load() {
		dt.retarget()
	}
	go up.forward(l)
}

// available reports which layers are being received.
func (up *upTrack) available(idx int) bool { return up.layers[idx].Load() != nil }

func (up *upTrack) addDown(dt *downTrack) {
	up.mu.Lock()
	defer up.mu.Unlock()
	next := append(slices.Clone(*up.downs.Load()), dt)
	up.downs.Store(&next)
}

func (up *upTrack) removeDown(dt *downTrack) {
	up.mu.Lock()
	defer up.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(*up.downs.Load()), func(d *downTrack) bool { return d == dt })
	up.downs.Store(&next)
}

// stop ends forwarding: the layers' loops end when the publisher's peer
// connection closes; until then they forward to nobody.
func (up *upTrack) stop() {
	up.stopped.Store(true)
	up.downs.Store(&[]*downTrack{})
	up.m.tracks.Dec()
}

// requestKeyframe sends the publisher a PLI for layer idx, at most once per
// Config.PLIInterval.
func (up *upTrack) requestKeyframe(idx int) {
	l := up.layers[idx].Load()
	if l == nil || l.track == nil || up.pc == nil || up.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := l.pliAt.Load()
	if now-last < int64(up.pub.room.node.cfg.PLIInterval) || !l.pliAt.CompareAndSwap(last, now) {
		return
	}
	up.m.keyframeRequests.Inc()
	_ = up.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(l.track.SSRC())}})
}

// forward is the loop of one layer: read a packet, hand it to every
// down-track. It allocates nothing per packet.
func (up *upTrack) forward(l *layer) {
	gauges := up.m.trackGauges(up.pub.room.id, up.pub.user, up.mid, l.idx)
	defer up.m.deleteTrack(gauges)
	buf := make([]byte, 1500)
	var h rtp.Header
	clock := up.codec.ClockRate
	var received, forwarded float64
	var lostReported uint64
	flushAt := time.Now().Add(time.Second)
	for {
		n, _, err := l.track.Read(buf)
		if err != nil {
			return
		}
		off, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		end := n
		if h.Padding && n > off && int(buf[n-1]) <= n-off {
			end -= int(buf[n-1])
		}
		payload := buf[off:end]
		now := time.Now()
		l.stats.update(&h, now.UnixNano(), clock, n)
		if l.cache != nil {
			l.cache.put(h.SequenceNumber, buf[:n])
		}
		received++
		if now.After(flushAt) { // metrics once a second, not per packet
			up.m.received.Add(received)
			up.m.forwarded.Add(forwarded)
			received, forwarded = 0, 0
			up.m.jitter.Observe(l.stats.jitterSeconds())
			gauges.jitter.Set(l.stats.jitterSeconds())
			gauges.lost.Set(float64(l.stats.lost.Load()))
			gauges.packets.Set(float64(l.stats.packets.Load()))
			gauges.bitrate.Set(float64(l.stats.bitrate.Load()))
			lost := l.stats.lost.Load()
			up.m.lost.Add(float64(lost - lostReported))
			lostReported = lost
			flushAt = now.Add(time.Second)
		}
		if up.audioLevelID != 0 {
			if ext := h.GetExtension(up.audioLevelID); len(ext) > 0 {
				up.loudness.Add(uint64(127 - ext[0]&0x7f))
				up.levels.Add(1)
			}
		}
		if up.muted.Load() {
			continue
		}
		key := isKeyframe(up.family, payload)
		if len(payload) == 0 {
			continue // padding only: probes, not media
		}
		nano := now.UnixNano()
		for _, dt := range *up.downs.Load() {
			if dt.write(l.idx, &h, payload, key, nano) {
				forwarded++
			}
		}
	}
}

// streamStats follows one incoming stream: packets, loss from sequence
// gaps, interarrival jitter (RFC 3550 §6.4.1) and bitrate. Written by the
// layer's loop, read by anyone.
type streamStats struct {
	packets atomic.Uint64
	lost    atomic.Uint64
	bitrate atomic.Uint64 // bits/s over the last second
	jitterS atomic.Uint64 // float64 bits, seconds

	started    bool
	lastSeq    uint16
	transit    float64
	jitter     float64
	bits       uint64
	windowFrom int64
	origin     int64
}

func (s *streamStats) update(h *rtp.Header, now int64, clock uint32, size int) {
	s.packets.Add(1)
	arrival := float64(now-s.origin) * float64(clock) / 1e9
	if !s.started {
		s.started, s.lastSeq, s.origin, s.windowFrom = true, h.SequenceNumber, now, now
		s.transit = -float64(h.Timestamp)
		return
	}
	if d := int16(h.SequenceNumber - s.lastSeq); d > 0 {
		s.lost.Add(uint64(d - 1))
		s.lastSeq = h.SequenceNumber
	}
	transit := arrival - float64(h.Timestamp)
	d := math.Abs(transit - s.transit)
	s.transit = transit
	if clock > 0 && d < float64(clock) { // a timestamp jump (new layer, wrap) is not jitter
		s.jitter += (d - s.jitter) / 16
		s.jitterS.Store(math.Float64bits(s.jitter / float64(clock)))
	}
	s.bits += uint64(size) * 8
	if now-s.windowFrom >= int64(time.Second) {
		s.bitrate.Store(s.bits * uint64(time.Second) / uint64(now-s.windowFrom))
		s.bits, s.windowFrom = 0, now
	}
}

func (s *streamStats) jitterSeconds() float64 { return math.Float64frombits(s.jitterS.Load()) }
