module github.com/salamhq/salam/sdk/go

go 1.24

require github.com/coder/websocket v1.8.14

require go.uber.org/goleak v1.3.0
