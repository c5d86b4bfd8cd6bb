"""The maths every page shares: the norms (one registry), input distributions, projections, geometry, the device."""
