package salam_test
const publisherEnv = "SALAM_SDK_PUBLISHER"
func runPublisher() int { return 0 }
