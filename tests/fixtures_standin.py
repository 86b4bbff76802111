"""Fixtures that start the local stand-in of the contract's speech service on 127.0.0.1.

Never reach the network; the stand-in speaks the real contract over real HTTP.
"""
