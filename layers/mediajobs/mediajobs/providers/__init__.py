"""Provider adapters: one interface (:mod:`.base`), one implementation per provider."""
