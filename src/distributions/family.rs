//! The family table: the pomegranate 0.14 distribution classes that mixtura knows, their names,
//! the number of parameters their documents hold, and the [`Family`] each one is fitted as. The
//! JSON format, the components' names and the Python layer all read the class names from here.

/// A distribution class of pomegranate 0.14 that mixtura reads, writes and builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `NormalDistribution`.
    Normal,
    /// `LogNormalDistribution`.
    LogNormal,
    /// `ExponentialDistribution`.
    Exponential,
    /// `GammaDistribution`.
    Gamma,
    /// `PoissonDistribution`.
    Poisson,
    /// `UniformDistribution`.
    Uniform,
    /// `BernoulliDistribution`.
    Bernoulli,
    /// `DiscreteDistribution`.
    Discrete,
    /// `MultivariateGaussianDistribution`.
    MultivariateGaussian,
    /// `IndependentComponentsDistribution`.
    IndependentComponents,
}

/// One row of the table.
struct Row {
    class: Class,
    name: &'static str,
    n_parameters: usize,
}

/// The table, in the order of [`Class::ALL`].
const TABLE: [Row; 10] = [
    Row {
        class: Class::Normal,
        name: "NormalDistribution",
        n_parameters: 2,
    },
    Row {
        class: Class::LogNormal,
        name: "LogNormalDistribution",
        n_parameters: 2,
    },
    Row {
        class: Class::Exponential,
        name: "ExponentialDistribution",
        n_parameters: 1,
    },
    Row {
        class: Class::Gamma,
        name: "GammaDistribution",
        n_parameters: 2,
    },
    Row {
        class: Class::Poisson,
        name: "PoissonDistribution",
        n_parameters: 1,
    },
    Row {
        class: Class::Uniform,
        name: "UniformDistribution",
        n_parameters: 2,
    },
    Row {
        class: Class::Bernoulli,
        name: "BernoulliDistribution",
        n_parameters: 1,
    },
    Row {
        class: Class::Discrete,
        name: "DiscreteDistribution",
        n_parameters: 1,
    },
    Row {
        class: Class::MultivariateGaussian,
        name: "MultivariateGaussianDistribution",
        n_parameters: 2,
    },
    Row {
        class: Class::IndependentComponents,
        name: "IndependentComponentsDistribution",
        n_parameters: 2,
    },
];

impl Class {
    /// Every class, in the table's order.
    pub const ALL: [Class; 10] = [
        Class::Normal,
        Class::LogNormal,
        Class::Exponential,
        Class::Gamma,
        Class::Poisson,
        Class::Uniform,
        Class::Bernoulli,
        Class::Discrete,
        Class::MultivariateGaussian,
        Class::IndependentComponents,
    ];

    /// The class's row of the table.
    fn row(self) -> &'static Row {
        let row = &TABLE[self as usize];
        debug_assert_eq!(row.class, self);
        row
    }

    /// The pomegranate class name, as the JSON documents write it.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The number of parameters in the class's documents (and, for the univariate families
    /// whose parameters are numbers, of its constructor), in pomegranate's order.
    pub fn n_parameters(self) -> usize {
        self.row().n_parameters
    }

    /// The class of a pomegranate class name.
    pub fn from_name(name: &str) -> Option<Class> {
        TABLE.iter().find(|r| r.name == name).map(|r| r.class)
    }

    /// The family `from_samples` fits this class as; `n_symbols` is the number of symbols of a
    /// discrete family (the other families ignore it). `None` for
    /// `IndependentComponentsDistribution` (built from a family per feature instead) and for a
    /// discrete class without `n_symbols`.
    pub fn family(self, n_symbols: Option<usize>) -> Option<Family> {
        Some(match self {
            Class::Normal => Family::Normal,
            Class::LogNormal => Family::LogNormal,
            Class::Exponential => Family::Exponential,
            Class::Gamma => Family::Gamma,
            Class::Poisson => Family::Poisson,
            Class::Uniform => Family::Uniform,
            Class::Bernoulli => Family::Bernoulli,
            Class::Discrete => Family::Discrete(n_symbols?),
            Class::MultivariateGaussian => Family::MultivariateGaussian,
            Class::IndependentComponents => return None,
        })
    }
}

/// The families a component can be fitted as, for `from_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// [`Normal`](super::Normal).
    Normal,
    /// [`LogNormal`](super::LogNormal).
    LogNormal,
    /// [`Exponential`](super::Exponential).
    Exponential,
    /// [`Gamma`](super::Gamma).
    Gamma,
    /// [`Poisson`](super::Poisson).
    Poisson,
    /// [`Uniform`](super::Uniform).
    Uniform,
    /// [`Bernoulli`](super::Bernoulli).
    Bernoulli,
    /// [`Discrete`](super::Discrete) over this many symbols (codes `0..k`).
    Discrete(usize),
    /// [`MultivariateGaussian`](super::MultivariateGaussian).
    MultivariateGaussian,
}

impl Family {
    /// The family's class.
    pub fn class(self) -> Class {
        match self {
            Family::Normal => Class::Normal,
            Family::LogNormal => Class::LogNormal,
            Family::Exponential => Class::Exponential,
            Family::Gamma => Class::Gamma,
            Family::Poisson => Class::Poisson,
            Family::Uniform => Class::Uniform,
            Family::Bernoulli => Class::Bernoulli,
            Family::Discrete(_) => Class::Discrete,
            Family::MultivariateGaussian => Class::MultivariateGaussian,
        }
    }

    /// The family's pomegranate class name.
    pub fn name(self) -> &'static str {
        self.class().name()
    }

    /// The family of a pomegranate class name, for the families that the name alone determines:
    /// `None` for an unknown name, `IndependentComponentsDistribution`, and
    /// `DiscreteDistribution` (whose number of symbols [`Class::family`] takes).
    pub fn from_name(name: &str) -> Option<Self> {
        Class::from_name(name)?.family(None)
    }

    /// Whether the family is univariate.
    pub fn is_univariate(self) -> bool {
        !matches!(self, Family::MultivariateGaussian)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_classes() {
        for (i, c) in Class::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(TABLE[i].class, *c);
            assert_eq!(Class::from_name(c.name()), Some(*c));
        }
        assert_eq!(Class::from_name("Distribution"), None);
    }

    #[test]
    fn families_and_classes_agree() {
        for c in Class::ALL {
            if let Some(f) = c.family(Some(3)) {
                assert_eq!(f.class(), c);
                assert_eq!(f.name(), c.name());
            }
        }
        assert_eq!(Class::Discrete.family(Some(3)), Some(Family::Discrete(3)));
        assert_eq!(Class::Discrete.family(None), None);
        assert_eq!(Family::from_name("DiscreteDistribution"), None);
        assert_eq!(Family::from_name("DiscreteDistribution:3"), None);
        assert_eq!(Family::from_name("GammaDistribution"), Some(Family::Gamma));
        assert_eq!(Family::from_name("IndependentComponentsDistribution"), None);
    }
}
