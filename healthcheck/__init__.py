"""The costdb health probe: is the schema dependents need there, complete and usable?"""
