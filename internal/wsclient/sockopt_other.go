//go:build !linux

package wsclient

import "syscall"

// bindAddressNoPort is a no-op where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindAddressNoPort(network, address string, c syscall.RawConn) error { return nil }
