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

	// Chat.
	"typing-start":      {Type: TypeTyping, Channel: general},
	"typing-stop":       {Type: TypeTyping, Channel: general, Stop: true},
	"typing-relay":      {Type: TypeTyping, Channel: general, From: "u-1042"},
	"typing-relay-stop": {Type: TypeTyping, Channel: general, From: "u-1042", Stop: true},
	"receipt-read":      {Type: TypeReceipt, ID: 20, Channel: general, Seq: 1501, Kind: ReceiptRead},
	"receipt-delivered": {Type: TypeReceipt, Channel: general, Seq: 1501, From: "u-7", Kind: ReceiptDelivered},
	"history-latest":    {Type: TypeHistory, ID: 21, Channel: general},
	"history-before":    {Type: TypeHistory, ID: 22, Channel: general, Before: 1502, Limit: 2},
	"history-before-oldest": {Type: TypeHistory, ID: 23, Channel: general, Before: 1502, Limit: 50,
		Oldest: true},
	"history-since":  {Type: TypeHistory, ID: 24, Channel: general, Since: 1400, Limit: 200, Oldest: true},
	"history-around": {Type: TypeHistory, ID: 25, Channel: general, Around: 1500, Limit: 20, Oldest: true},
	"messages-page": {Type: TypeMessages, ID: 22, Channel: general, More: true, Messages: []Message{
		{Seq: 1501, From: "u-7", Time: 1767225630000, Deleted: true},
		{Seq: 1500, From: "u-1042", MsgID: "01JD5Z3X8K", ContentType: "text/markdown",
			Data: []byte("**Selamat pagi!** صباح الخير — lihat foto"), ReplyTo: 1490,
			Attachments: []Attachment{photo, {URL: "https://cdn.salam.example/a/77d1/notes.pdf",
				Mime: "application/pdf", Size: 4096}},
			Time: 1767225600123, Edited: 1767225660000, Pinned: true, Reactions: reactions},
	}},
	"messages-encrypted": {Type: TypeMessages, ID: 26, Channel: dm, Messages: []Message{
		{Seq: 12, From: "u-7", MsgID: "c-88", ContentType: "application/x-salam-e2ee", Data: ciphertext,
			Time: 1767225600500},
	}},
	"messages-empty": {Type: TypeMessages, ID: 27, Channel: general},
	"publish-chat": {Type: TypePublish, ID: 8, Channel: general, Data: []byte("Lihat foto ini 📷"),
		MsgID: "01JD5Z4A2B", ContentType: "text/markdown", ReplyTo: 1500, Attachments: []Attachment{photo}},
	"publish-encrypted": {Type: TypePublish, ID: 9, Channel: dm, Data: ciphertext, MsgID: "c-89",
		ContentType: "application/x-salam-e2ee"},
	"ack-subscribe-more":        {Type: TypeAck, ID: 3, More: true},
	"ack-subscribe-resume-more": {Type: TypeAck, ID: 3, Channel: general, More: true},
	"presence-online":           {Type: TypePresence, Channel: "dm:5e1f", From: "u-1042", Kind: PresenceOnline},
	"presence-offline":          {Type: TypePresence, Channel: "dm:5e1f", From: "u-1042", Time: 1767225600000, Kind: PresenceOffline},
	"event-message": {Type: TypeEvent, Channel: general, Data: []byte("Lihat foto ini 📷"), Seq: 1502,
		MsgID: "01JD5Z4A2B", From: "u-1042", Time: 1767225690000, ContentType: "text/markdown", ReplyTo: 1500,
		Attachments: []Attachment{photo}},
	"event-edited": {Type: TypeEvent, Channel: general, Data: []byte("**Selamat pagi semua!**"), Seq: 1500,
		From: "u-1042", Time: 1767225660000, ContentType: "text/markdown", Kind: EventEdited},
	"event-deleted": {Type: TypeEvent, Channel: general, Seq: 1501, From: "u-7", Time: 1767225630000,
		Kind: EventDeleted},
	"event-reactions": {Type: TypeEvent, Channel: general, Seq: 1500, From: "u-7", Time: 1767225640000,
		Kind: EventReactions, Reactions: reactions},
	"event-pinned": {Type: TypeEvent, Channel: general, Seq: 1500, From: "u-9", Time: 1767225650000,
		Kind: EventPinned},
	"event-unpinned": {Type: TypeEvent, Channel: general, Seq: 1500, From: "u-9", Time: 1767225655000,
		Kind: EventUnpinned},
	"error-not-member": {Type: TypeError, ID: 2, Code: CodeNotMember, Reason: "not a member of chat:general"},
	"error-conflict": {Type: TypeError, ID: 8, Code: CodeConflict,
		Reason: "client message id reused with different content"},
	"presence-query": {Type: TypePresence, ID: 30, Users: []string{"u-1042", "u-7", "u-9"}},
	"presence-reply": {Type: TypePresence, ID: 30, Presences: []Presence{
		{User: "u-1042", Kind: PresenceOnline, Status: "Di pejabat 🏢"},
		{User: "u-7", Kind: PresenceOffline, LastSeen: 1767225600000},
		{User: "u-9", Kind: PresenceOffline},
	}},
	"presence-reply-self": {Type: TypePresence, ID: 31, Presences: []Presence{
		{User: "u-1042", Kind: PresenceOnline, Status: "في اجتماع", Invisible: true}}},
	"error-too-many-users": {Type: TypeError, ID: 32, Code: CodeTooManyUsers,
		Reason: "at most 100 users per presence query"},
	"all-keys-with-presence": {Type: TypePresence, ID: 1, Channel: "c", Data: []byte("d"), Seq: 1, MsgID: "m",
		From: "f", Time: 1, Code: 1, Reason: "r", Session: "s", User: "u", Client: "c", After: 1,
		Limits: Limits{MaxSubscribed: 1}, ContentType: "c", ReplyTo: 1, Attachments: []Attachment{{Name: "n"}},
		Kind: 1, Stop: true, Before: 1, Since: 1, Around: 1, Limit: 1, Oldest: true, More: true,
		Messages: []Message{{Seq: 1}}, Reactions: []Reaction{{Emoji: "e"}}, Users: []string{"u"},
		Presences: []Presence{{}, {User: "u", Kind: 2, LastSeen: -1, Status: "s", Invisible: true}}},
	"all-keys-map16": {Type: TypeEvent, ID: 1, Channel: "c", Data: []byte("d"), Seq: 1, MsgID: "m", From: "f",
		Time: 1, Code: 1, Reason: "r", Session: "s", User: "u", Client: "c", After: 1,
		Limits: Limits{MaxSubscribed: 1}, ContentType: "c", ReplyTo: 1, Attachments: []Attachment{{Name: "n"}},
		Kind: 1, Stop: true, Before: 1, Since: 1, Around: 1, Limit: 1, Oldest: true, More: true,
		Messages: []Message{{Seq: 1}}, Reactions: []Reaction{{Emoji: "e"}}},
}

const (
	general = "chat:general"
	dm      = "dm:3f9a0c5e1b7d4a2c8e6f0b1d9c7a5e3f"
)

var (
	photo = Attachment{URL: "https://cdn.salam.example/a/9f2c/pagi.jpg", Mime: "image/jpeg", Size: 183204,
		Name: "pagi.jpg"}
	reactions  = []Reaction{{Emoji: "👍", Count: 3}, {Emoji: "❤️", Count: 1}}
	ciphertext = []byte{0xa3, 0xf1, 0x00, 0x9c, 0x7e, 0x2b, 0x44, 0xd0, 0xff, 0x1e, 0x8a, 0x6b, 0x0c, 0x5d,
		0x93, 0xe7, 0x21, 0x5f, 0x88, 0xc4}
)
