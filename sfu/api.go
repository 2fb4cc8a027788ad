package sfu

import (
	"crypto/rand"
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// audioLevelURI is the RTP header extension carrying a packet's audio level
// (RFC 6464), read for active speaker detection.
const audioLevelURI = sdp.AudioLevelURI

// newAPI builds the pion API every peer connection of the node shares: the
// default codecs, the audio level and simulcast header extensions, the
// interceptors (NACK generator, RTCP sender and receiver reports, TWCC
// feedback to publishers), and the network settings of cfg.
func newAPI(cfg *Config, mux ice.UDPMux) (*webrtc.API, error) {
	var media webrtc.MediaEngine
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	exts := []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{audioLevelURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRepairRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
	}
	for _, e := range exts {
		if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, err
		}
	}
	// Pion's default interceptors but two: NACKs are answered by the
	// down-tracks (retransmit.go) and the stats interceptor is replaced by
	// the forwarding loops' own counters, both per-packet costs; and the
	// received packets' attributes are reused (readreuse.go).
	var reg interceptor.Registry
	reg.Add(readReuseFactory{}) // first and last: see readreuse.go
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	media.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	media.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(&reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(&media, &reg); err != nil {
		return nil, err
	}
	reg.Add(readReuseFactory{outer: true})
	se, err := settingEngine(cfg)
	if err != nil {
		return nil, err
	}
	if mux != nil {
		se.SetICEUDPMux(mux)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&media), webrtc.WithInterceptorRegistry(&reg),
		webrtc.WithSettingEngine(se)), nil
}

// listenMux opens the node's one UDP socket when cfg.UDPPort is set (nil,
// nil, nil otherwise): 127.0.0.1 in loopback mode, every address
// otherwise, its writes batched (the returned batchConn) unless
// cfg.BatchWriteSize is 1. Every peer connection's ICE shares it through
// the returned mux; closing the mux closes the socket.
func listenMux(cfg *Config) (*ice.UDPMuxDefault, *batchConn, error) {
	if cfg.UDPPort == 0 {
		return nil, nil, nil
	}
	network, host := "udp", ""
	if cfg.Loopback {
		network, host = "udp4", "127.0.0.1"
	}
	conn, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(host), Port: int(cfg.UDPPort)})
	if err != nil {
		return nil, nil, fmt.Errorf("sfu udp_port %d: %w", cfg.UDPPort, err)
	}
	var pc net.PacketConn = conn
	var batch *batchConn
	if cfg.BatchWriteSize > 1 {
		batch = newBatchConn(conn, cfg.BatchWriteSize, cfg.BatchWriteInterval)
		pc = batch
	}
	return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: pc}), batch, nil
}

func settingEngine(cfg *Config) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return se, err
		}
	}
	if cfg.Loopback {
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		if len(cfg.NAT1To1IPs) == 0 {
			se.SetNAT1To1IPs([]string{"127.0.0.1"}, webrtc.ICECandidateTypeHost)
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	return se, nil
}

// randomID returns 12 random letters and digits.
func randomID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [12]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
