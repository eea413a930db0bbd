"""The course tooling: build the student labs, grade a class. Not part of the student package.

Run from the repository root (``make labs``, ``make check-labs``, ``make grade``):
pip installs ``invlab`` only, so a student's install never pulls nbformat or nbgrader.
"""
