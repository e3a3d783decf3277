"""The PBX side: the AMI connection (:mod:`.ami`), the live channel and queue state built from
its events (:mod:`.state`), and the two as the dialer's PBX port (:mod:`.asterisk`). The
contract is docs/engine-interfaces.md."""
