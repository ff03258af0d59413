"""Imports of the regulator's ratings export, contract-monitoring results and intelligence items."""
