"""The DRV2605(L) registers and bits the station uses (TI SLOS854, "Register Map"), and the
auto-calibration set-up (SLOA189). Shared by ``hardware.haptics`` and ``hardware.autocal``.
"""

from __future__ import annotations

from hardware.drv2605_transfer import FEEDBACK_N_ERM_LRA

ADDRESS = 0x5A
STATUS, MODE, RTP_INPUT, GO = 0x00, 0x01, 0x02, 0x0C
RATED_VOLTAGE, OD_CLAMP, A_CAL_COMP, A_CAL_BEMF, FEEDBACK = 0x16, 0x17, 0x18, 0x19, 0x1A
CONTROL1, CONTROL2, CONTROL3, CONTROL4 = 0x1B, 0x1C, 0x1D, 0x1E
MODE_STANDBY = 0x40
DIAG_RESULT_BIT, OVER_TEMP_BIT, OC_DETECT_BIT = 0x08, 0x02, 0x01
LRA_BIT = FEEDBACK_N_ERM_LRA
LRA_PERIOD = 0x22
LRA_PERIOD_US = 98.46  # LRA_PERIOD LSB (datasheet)
EN_SETTLE_S = 300e-6  # datasheet: >= 250 us after EN rises before the first I2C access
# Auto-calibration set-up (SLOA189): brake factor 3 (x4), loop gain 1 (medium), BEMF
# gain 2; AUTO_CAL_TIME 3 = 1000-1200 ms, the longest and most robust.
CAL_FEEDBACK = 0x30 | 0x04 | 0x02
CAL_AUTO_CAL_TIME = 3
CAL_CONTROL2_LRA = 0xF5  # bidirectional, brake stabiliser, 300 us sample, default times
