"""Tests of the local LMS API sandboxes."""
