//go:build !unix

package loadgen

func checkFileLimit(opt *Options) error { return nil }
