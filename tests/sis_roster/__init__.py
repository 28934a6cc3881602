"""Tests of the SIS roster source."""
