package console

import "github.com/nats-io/nats.go"

type natsMsg struct{ data []byte }

func (m natsMsg) msg() nats.Msg { return nats.Msg{Subject: "x", Data: m.data} }
