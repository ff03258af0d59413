"""Provider intelligence: one timeline across every source, a transparent risk signal, the register, imports."""
