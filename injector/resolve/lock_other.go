//go:build !unix

package resolve

// lock does not serialise on systems without flock: concurrent toolexec
// processes may then resolve the same memo twice, with the same result.
func lock(path string) (unlock func(), err error) {
	return func() {}, nil
}

// canLock says whether lock and tryLock really lock; Session.Warm does not
// run where they do not, since nothing could wait for it.
const canLock = false

func tryLock(path string) (unlock func(), ok bool, err error) {
	return func() {}, true, nil
}
