"""Regions (city, county, metro, area, ZIP, tract; nestable) and their population baselines,
imported from Census ACS table exports.

Domain, without I/O: ``catalogue`` (the platform's dimensions and bands), ``acs`` (reading an
export), ``mapping`` (label paths -> bands), ``validation`` (parts add up), ``baselines`` (the
figures per region). With I/O: ``store`` (SQL), ``importing`` (files -> one transaction), and the
command line in ``__main__``."""
