"""Station: a Raspberry Pi stimulation station for desensitisation therapy."""

__version__ = "0.1.0"
