"""The provider risk register: every service a person may see, ranked by its risk signal."""
