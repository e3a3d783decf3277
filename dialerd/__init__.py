"""dialerd: a predictive dialer service next to an Asterisk PBX."""

__version__ = "0.1.0"
