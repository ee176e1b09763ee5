"""Measure detections against ground truth, side by side with the rules SIEMs ship today."""
