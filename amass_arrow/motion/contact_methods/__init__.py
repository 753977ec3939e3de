"""Contact methods, one module each: a function `(joints (T, F, 3), fps, up_axis, params) -> (T, F) bool`
registered with `motion.contacts.register(name)` under its module's name (`motion.contacts` loads it by that name)."""
