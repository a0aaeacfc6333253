"""Pathways: from loaded feeds to care-cycle episodes and the stage of every activity.

``build_episodes(tables, pack)`` returns the ``episodes`` and ``episode_activities``
expressions for one condition pack; ``carevalue run`` writes them for every pack.
"""
