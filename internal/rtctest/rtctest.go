// Package rtctest builds pion WebRTC peers for tests and development tools
// (the calls end-to-end test here, the SFU's tests later) that only ever
// use loopback: this machine allows no other traffic, and pion otherwise
// offers every interface's address (and mDNS names) as ICE candidates.
//
// It must not be imported by production code.
package rtctest

import (
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// SettingEngine returns a pion SettingEngine restricted to loopback: only
// the "lo" interface and its IPv4 loopback addresses are gathered, mDNS is
// off, and host candidates are announced as 127.0.0.1.
func SettingEngine() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true) // pion skips loopback addresses unless told
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNAT1To1IPs([]string{"127.0.0.1"}, webrtc.ICECandidateTypeHost)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return se
}

// API returns a pion API with the default codecs and interceptors and the
// loopback SettingEngine.
func API() (*webrtc.API, error) {
	var media webrtc.MediaEngine
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&media), webrtc.WithSettingEngine(SettingEngine())), nil
}
