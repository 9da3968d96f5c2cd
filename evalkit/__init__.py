"""evalkit: find out what a black-box image classifier relies on.

Pipeline (one subpackage per stage)::

    data -> minisets -> probes -> discovery -> explain -> scoring -> fingerprint -> report
                                                                   (pipeline runs them all)
"""
__version__ = "0.1.0"
