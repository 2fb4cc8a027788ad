package wire

// Copy the reference codec from the server module (see doc.go). The file
// list is checked by TestSyncedWithServer.
//go:generate sh -c "cd ../../../wire && cp codec.go errors.go frame.go json.go json_decode.go msgpack.go msgpack_decode.go ../sdk/go/wire/"
