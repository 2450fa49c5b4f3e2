"""capture: RealSense / Orbbec / ZED drivers, the rig recorder and the touchscreen app."""
