"""The PBX side: the AMI connection (:mod:`.ami`) and the live channel and queue state
built from its events (:mod:`.state`). The contract is docs/engine-interfaces.md."""

from dialerd.pbx.ami import AmiActionError, AmiConnection, AmiError, AmiEvent, AmiUnavailable
from dialerd.pbx.state import Channel, LiveState

__all__ = [
    "AmiActionError",
    "AmiConnection",
    "AmiError",
    "AmiEvent",
    "AmiUnavailable",
    "Channel",
    "LiveState",
]
