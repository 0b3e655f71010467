//go:build !unix

package resolve

// lock does not serialise on systems without flock: concurrent toolexec
// processes may then resolve the same memo twice, with the same result.
func lock(path string) (unlock func(), err error) {
	return func() {}, nil
}

// tryLock never locks there, and so Session.Warm never runs: nothing
// could wait for it.
func tryLock(path string) (unlock func(), ok bool, err error) {
	return nil, false, nil
}
