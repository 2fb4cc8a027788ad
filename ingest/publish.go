package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	hlscodecs "github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/salamhq/salam/internal/bus"
)

// handleConn runs one RTMP connection to its end: handshake, key check,
// claim of the stream, then the publish. Every refusal is logged with its
// reason and told to the client in an onStatus error.
func (s *Server) handleConn(conn net.Conn) {
	defer conn.Close()
	log := s.log.With("remote", conn.RemoteAddr().String())
	conn.SetDeadline(s.now().Add(s.cfg.HandshakeTimeout))
	sc := &gortmplib.ServerConn{RW: conn}
	if err := sc.Initialize(); err != nil {
		log.Debug("rtmp handshake failed", "err", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		log.Debug("rtmp connect failed", "err", err)
		return
	}
	if !sc.Publish {
		refuse(sc, "NetStream.Play.Failed", ErrPlayNotSupported)
		log.Info("rtmp play refused", "err", ErrPlayNotSupported)
		return
	}
	key, ok := keyFromPath(sc.URL.Path)
	if !ok {
		refuse(sc, "NetStream.Publish.BadName", ErrBadPath)
		s.stats.refused("bad_path")
		log.Warn("publish refused", "err", ErrBadPath, "path", sc.URL.Path)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	info, err := s.keys.CheckKey(ctx, key)
	cancel()
	if errors.Is(err, ErrBadKey) {
		refuse(sc, "NetStream.Publish.Unauthorized", ErrBadKey)
		s.stats.refused("bad_key")
		log.Warn("publish refused", "err", err) // never the key itself
		return
	} else if err != nil {
		refuse(sc, "NetStream.Publish.Failed", ErrKeyCheck)
		s.stats.refused("key_check")
		log.Error("publish refused: stream key check failed", "err", err)
		return
	}
	if !bus.ValidStream(info.Name) { // it becomes a URL segment and a directory name
		refuse(sc, "NetStream.Publish.BadName", ErrBadKey)
		log.Error("publish refused: the key checker returned an invalid stream name", "stream", info.Name)
		return
	}
	log = log.With("stream", info.Name, "user", info.UserID)
	st, err := s.claim(info, conn)
	if err != nil {
		refuse(sc, "NetStream.Publish.BadName", err)
		s.stats.refused("busy")
		log.Warn("publish refused", "err", err)
		return
	}
	err = s.publish(sc, conn, st, log)
	switch {
	case st.replaced.Load():
		err = ErrReplaced
	case s.isClosed():
		err = ErrClosed
	}
	s.release(st, err)
	if err == nil || errors.Is(err, io.EOF) {
		log.Info("publish ended")
	} else {
		log.Warn("publish ended", "err", err)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// keyFromPath takes the key out of "/live/<key>".
func keyFromPath(path string) (string, bool) {
	key, ok := strings.CutPrefix(path, "/live/")
	if !ok || key == "" || strings.ContainsAny(key, "/?") {
		return "", false
	}
	return key, true
}

// refuse answers the publish (or play) command with an error status, which
// OBS and ffmpeg show to the user ("Server error: ...").
func refuse(sc *gortmplib.ServerConn, code string, err error) {
	sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: 0x1000000,
		Name:            "onStatus",
		Arguments: []any{nil, amf0.Object{
			{Key: "level", Value: "error"},
			{Key: "code", Value: code},
			{Key: "description", Value: err.Error()},
		}},
	})
}

// publish accepts the publish, analyses the tracks (gortmplib reads ~2 s of
// stream for that), starts the muxer and copies access units into it until
// the publisher leaves, stalls or is disconnected.
func (s *Server) publish(sc *gortmplib.ServerConn, conn net.Conn, st *stream, log *slog.Logger) error {
	conn.SetDeadline(s.now().Add(s.cfg.HandshakeTimeout + 3*time.Second))
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		if strings.Contains(err.Error(), "unsupported") { // gortmplib: "unsupported video codec: 2"
			refuse(sc, "NetStream.Publish.Rejected", ErrUnsupportedCodec)
			return fmt.Errorf("%w: %v", ErrUnsupportedCodec, err)
		}
		return stallOr(err)
	}
	var video, audio *gortmplib.Track
	var names []string
	for _, t := range r.Tracks() {
		names = append(names, codecName(t.Codec))
		switch t.Codec.(type) {
		case *codecs.H264:
			if video == nil {
				video = t
			}
		case *codecs.MPEG4Audio:
			if audio == nil {
				audio = t
			}
		}
	}
	if video == nil {
		refuse(sc, "NetStream.Publish.Rejected", ErrUnsupportedCodec)
		return fmt.Errorf("%w: tracks %v", ErrUnsupportedCodec, names)
	}
	m, vt, at, err := s.newMuxer(video, audio, st)
	if err != nil {
		return err
	}
	p := &pipe{s: s, st: st, m: m, vt: vt, at: at}
	var aacConf *mpeg4audio.AudioSpecificConfig
	if audio != nil {
		aacConf = audio.Codec.(*codecs.MPEG4Audio).Config
	}
	if st.info.Record && s.cfg.RecordDir != "" {
		dir := filepath.Join(s.cfg.RecordDir, st.info.Name, st.started.UTC().Format("20060102T150405Z"))
		if p.rec, err = newRecorder(dir, aacConf); err != nil {
			log.Warn("recording disabled", "err", err)
		} else {
			defer func() {
				if err := p.rec.close(); err != nil {
					log.Warn("recording failed", "err", err)
				} else {
					log.Info("recording saved", "vod", "/vod/"+st.info.Name+"/"+filepath.Base(dir)+"/index.m3u8")
				}
			}()
		}
	}
	if s.cfg.Transcode.Enabled {
		if dir, err := os.MkdirTemp("", "salam-abr-"); err != nil {
			log.Warn("transcode disabled for this stream", "err", err)
		} else if p.tc, err = startTranscoder(s.cfg.Transcode, dir, video.Codec.(*codecs.H264).SPS, aacConf, s.log.With("stream", st.info.Name)); err != nil {
			os.RemoveAll(dir)
			log.Warn("transcode disabled for this stream", "err", err)
		} else {
			st.setABR(dir)
			defer func() { st.setABR(""); p.tc.close() }()
		}
	}
	for _, t := range r.Tracks() {
		switch {
		case t == video:
			c := t.Codec.(*codecs.H264)
			p.sps, p.pps = c.SPS, c.PPS
			r.OnDataH264(t, p.onH264)
		case t == audio:
			p.sampleRate = at.ClockRate
			r.OnDataMPEG4Audio(t, p.onAAC)
		default:
			log.Warn("track ignored (only one H.264 and one AAC track are kept)", "codec", codecName(t.Codec))
			ignore(r, t)
		}
	}
	st.setMuxer(m)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.watchListing(st, m, stopWatch) }()
	if s.life != nil {
		s.life.Started(st.info)
	}
	log.Info("publishing", "tracks", names, "variant", s.cfg.Variant)
	for {
		// Read and write: reading may answer (acknowledgements, pings), and a
		// write deadline left from the handshake would fail those later.
		conn.SetDeadline(s.now().Add(s.cfg.StallTimeout))
		if err := r.Read(); err != nil {
			return stallOr(err)
		}
		st.stats.bytes.Store(sc.BytesReceived())
	}
}

// stallOr maps a read timeout to ErrStalled.
func stallOr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrStalled
	}
	return err
}

func (s *Server) newMuxer(video, audio *gortmplib.Track, st *stream) (*gohlslib.Muxer, *gohlslib.Track, *gohlslib.Track, error) {
	c := video.Codec.(*codecs.H264)
	vt := &gohlslib.Track{Codec: &hlscodecs.H264{SPS: c.SPS, PPS: c.PPS}, ClockRate: 90000}
	tracks := []*gohlslib.Track{vt}
	var at *gohlslib.Track
	if audio != nil {
		conf, err := aacConfigV1(audio.Codec.(*codecs.MPEG4Audio).Config)
		if err != nil {
			return nil, nil, nil, err
		}
		at = &gohlslib.Track{Codec: &hlscodecs.MPEG4Audio{Config: conf}, ClockRate: conf.SampleRate}
		tracks = append(tracks, at)
	}
	variant := map[string]gohlslib.MuxerVariant{VariantMPEGTS: gohlslib.MuxerVariantMPEGTS,
		VariantFMP4: gohlslib.MuxerVariantFMP4, VariantLowLatency: gohlslib.MuxerVariantLowLatency}[s.cfg.Variant]
	m := &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            variant,
		SegmentCount:       s.cfg.SegmentCount,
		SegmentMinDuration: s.cfg.SegmentMinDuration,
		PartMinDuration:    s.cfg.PartMinDuration,
		OnEncodeError: func(err error) {
			st.stats.dropped.Add(1)
			s.log.Debug("hls encode", "stream", st.info.Name, "err", err)
		},
	}
	if err := m.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("ingest: hls muxer: %w", err)
	}
	return m, vt, at, nil
}

// pipe copies one publisher's access units into its muxer. Only the
// publisher's goroutine (inside Reader.Read) calls it.
type pipe struct {
	s          *Server
	st         *stream
	m          *gohlslib.Muxer
	vt, at     *gohlslib.Track
	sps, pps   []byte
	sampleRate int
	rec        *recorder   // nil unless the stream is recorded
	tc         *transcoder // nil without the transcode ladder
}

func (p *pipe) onH264(pts, dts time.Duration, au [][]byte) {
	now := p.s.now()
	var hasSPS, hasPPS, idr bool
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			p.sps, hasSPS = nalu, true
		case h264.NALUTypePPS:
			p.pps, hasPPS = nalu, true
		case h264.NALUTypeIDR:
			idr = true
		}
	}
	if idr && (!hasSPS || !hasPPS) && p.sps != nil && p.pps != nil {
		// The muxer (and every TS player) needs the parameter sets in front
		// of each IDR; RTMP sends them once, in the sequence header.
		au = append([][]byte{p.sps, p.pps}, au...)
	}
	p.st.stats.onVideo(now, pts, idr, hasSPS && !idr)
	if err := p.m.WriteH264(p.vt, now, int64(pts)*90000/int64(time.Second), au); err != nil {
		p.st.stats.dropped.Add(1)
	}
	if hasSPS && !idr {
		return // the sequence header: parameters only
	}
	if p.rec != nil {
		p.rec.video(pts, dts, au, idr)
	}
	if p.tc != nil {
		p.tc.video(pts, dts, au)
	}
}

func (p *pipe) onAAC(pts time.Duration, au []byte) {
	p.st.stats.audioFrames.Add(1)
	ts := int64(pts) * int64(p.sampleRate) / int64(time.Second)
	if err := p.m.WriteMPEG4Audio(p.at, p.s.now(), ts, [][]byte{au}); err != nil {
		p.st.stats.dropped.Add(1)
	}
	if p.rec != nil {
		p.rec.audio(pts, au)
	}
	if p.tc != nil {
		p.tc.audio(pts, au)
	}
}

// ignore sets a no-op callback on a track that is not kept: Reader.Read
// needs one for every track it reported.
func ignore(r *gortmplib.Reader, t *gortmplib.Track) {
	switch t.Codec.(type) {
	case *codecs.AV1:
		r.OnDataAV1(t, func(time.Duration, [][]byte) {})
	case *codecs.VP9:
		r.OnDataVP9(t, func(time.Duration, []byte) {})
	case *codecs.H265:
		r.OnDataH265(t, func(time.Duration, time.Duration, [][]byte) {})
	case *codecs.H264:
		r.OnDataH264(t, func(time.Duration, time.Duration, [][]byte) {})
	case *codecs.Opus:
		r.OnDataOpus(t, func(time.Duration, []byte) {})
	case *codecs.FLAC:
		r.OnDataFLAC(t, func(time.Duration, []byte) {})
	case *codecs.MPEG4Audio:
		r.OnDataMPEG4Audio(t, func(time.Duration, []byte) {})
	case *codecs.MPEG1Audio:
		r.OnDataMPEG1Audio(t, func(time.Duration, []byte) {})
	case *codecs.AC3:
		r.OnDataAC3(t, func(time.Duration, []byte) {})
	case *codecs.G711:
		r.OnDataG711(t, func(time.Duration, []byte) {})
	case *codecs.LPCM:
		r.OnDataLPCM(t, func(time.Duration, []byte) {})
	}
}

func codecName(c codecs.Codec) string {
	name := fmt.Sprintf("%T", c)
	return strings.TrimPrefix(name, "*codecs.")
}
