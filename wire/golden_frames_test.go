package wire

import "strings"

// goldenFrames are the frames behind the canonical vectors of
// testdata/golden.json, by vector name. Every vector has an entry and every
// entry a vector.
var goldenFrames = map[string]Frame{
	"connect":         {Type: TypeConnect, ID: 1, Client: "salam-go/0.1.0"},
	"connect-minimal": {Type: TypeConnect},
	"connected": {Type: TypeConnected, ID: 1, Time: 1767225600000, Session: "s-7Hq2mK", User: "u-1042",
		Limits: Limits{MaxFrame: 65536, PublishRate: 10, PublishBurst: 20, PingInterval: 25, MaxSubscribed: 100}},
	"connected-partial-limits": {Type: TypeConnected, ID: 1, Time: 1767225600000, Session: "s-9", User: "u-7",
		Limits: Limits{MaxFrame: 1048576, PingInterval: 25}},
	"subscribe":        {Type: TypeSubscribe, ID: 2, Channel: "room:42"},
	"subscribe-resume": {Type: TypeSubscribe, ID: 3, Channel: "chat:general", Seq: 1500},
	"unsubscribe":      {Type: TypeUnsubscribe, ID: 300, Channel: "room:42"},
	"publish-utf8": {Type: TypePublish, ID: 5, Channel: "room:42",
		Data: []byte("السلام عليكم — apa khabar? 👋"), MsgID: "01JD5Z3X8K"},
	"publish-json-payload": {Type: TypePublish, ID: 6, Channel: "room:42",
		Data: []byte("{\"text\":\"hi \\\"there\\\"\",\n\t\"n\":1}")},
	"publish-binary": {Type: TypePublish, ID: 7, Channel: "files:u-1042",
		Data: []byte{0x00, 0xff, 0xfe, 0x80, 0x01, 0xc3, 0x28}},
	"ack-publish":  {Type: TypeAck, ID: 5, Seq: 1501, Time: 1767225600123},
	"ack-minimal":  {Type: TypeAck, ID: 2},
	"ack-wide-ids": {Type: TypeAck, ID: 4294967295, Seq: 65536, Time: 4102444800000},
	"error": {Type: TypeError, ID: 200, Code: CodePermissionDenied,
		Reason: "not allowed to publish to room:42"},
	"error-connection": {Type: TypeError, Code: CodeNotConnected, Reason: "connect first"},
	"error-non-ascii": {Type: TypeError, ID: 9, Code: CodeBadChannel,
		Reason: "القناة غير صالحة / saluran tidak sah 🚫"},
	"event": {Type: TypeEvent, Channel: "room:42", Data: []byte("Selamat pagi! صباح الخير ☀️"),
		Seq: 1501, MsgID: "01JD5Z3X8K", From: "u-1042", Time: 1767225600123},
	"event-wide-lengths": {Type: TypeEvent, Channel: "team:" + strings.Repeat("x", 35),
		Data: []byte(strings.Repeat("0123456789", 30)), Seq: 18446744073709551614,
		MsgID: strings.Repeat("m", 32), From: "u-1", Time: 1767225600123},
	"ping":               {Type: TypePing, ID: 7},
	"pong":               {Type: TypePong, ID: 7, Time: 1767225601000},
	"pong-negative-time": {Type: TypePong, ID: 8, Time: -1234567},
	"reconnect":          {Type: TypeReconnect, Reason: "server draining", After: 2500},
	"unknown-type":       {Type: 42, ID: 9},
}
